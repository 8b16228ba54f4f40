import {
  type DecodedMessage,
  DecodeError,
  decodeOrMalformed,
  decodeTaskMessage,
  encodeBody,
  encodeHeaders,
  type TaskMessage,
  type WireParts,
} from '@celeriac/core/adapter';

/**
 * A message file holds one JSON envelope, the layout kombu uses on Redis with the body as text:
 * `{"body": "<json>", "content-encoding", "content-type", "headers": {…}, "properties": {…}}`.
 */
export function encodeMessage(message: TaskMessage): string {
  return (
    `{"body":${JSON.stringify(encodeBody(message))},"content-encoding":"utf-8",` +
    `"content-type":"application/json","headers":${encodeHeaders(message.headers)},` +
    `"properties":${JSON.stringify(message.properties)}}`
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function partsOf(raw: string): WireParts {
  const envelope: unknown = JSON.parse(raw);
  if (!isRecord(envelope)) throw new DecodeError('message file is not a JSON envelope object');
  return {
    headers: envelope.headers,
    properties: isRecord(envelope.properties) ? envelope.properties : undefined,
    body: envelope.body,
    contentType: optionalString(envelope['content-type']),
    contentEncoding: optionalString(envelope['content-encoding']),
  };
}

function decodeFile(raw: string): TaskMessage {
  return decodeTaskMessage(partsOf(raw));
}

function rawOf(raw: string): string {
  return raw;
}

/** The task in a message file, or why it is not one (never throws). */
export function decodeMessage(raw: string): DecodedMessage {
  return decodeOrMalformed(raw, decodeFile, rawOf, 'message file could not be decoded');
}
