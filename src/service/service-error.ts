// Why a service could not be planned, installed or removed; the message says what to do next.
export class ServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServiceError';
  }
}
