// The hub config's `cluster:` section (docs/scaling.md): the MQTT broker through which hubs that
// share one PostgreSQL store pass commands for each other's boards and say what they changed.
import { z } from 'zod';
import { brokerUrl, topicRoot } from '../mqtt/config.js';

export const clusterSchema = z.strictObject({
  url: brokerUrl,
  username: z.string().min(1, { error: 'expected a user name' }).optional(),
  /** A file holding the password (its first line), as for mqtt.password_file. */
  password_file: z.string().min(1, { error: 'expected a file' }).optional(),
  /** PEM file of the CA that signed the broker's certificate, for mqtts:// with a private CA. */
  ca: z.string().min(1, { error: 'expected a PEM file' }).optional(),
  /** The topic every hub of the cluster uses under it; hubs of two clusters on one broker need two. */
  topic: topicRoot.default('tether-cluster'),
});

export type ClusterConfig = z.output<typeof clusterSchema>;
