// Stylesheets imported for their side effect: esbuild bundles them into the dashboard's .css.
declare module '*.css';
