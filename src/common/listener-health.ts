/**
 * A port: the session cache (src/sessions) answers it, so that the health check here needs no
 * import of the feature. Its LISTEN connection is what lets memory answer for the database.
 */
export abstract class ListenerHealth {
  /**
   * `off`: the cache is turned off (SESSION_CACHE_TTL=0s); `listening`: memory may answer;
   * `down`: every lookup goes to the database until the connection is back.
   */
  abstract get listenerState(): 'off' | 'listening' | 'down';
}
