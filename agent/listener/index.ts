// agent/listener: where connections enter the agent. A ProxyListener accepts, reads each
// connection's context (original destination, client address), detects its protocol from the
// first bytes (HTTP/1.x, h2c, TLS, else opaque TCP; skipped when the Service port declares its
// appProtocol) and hands it to the handler for that protocol. It also tracks connections so
// drain can stop accepting, close idle keep-alive connections and GOAWAY HTTP/2 sessions.
export { ProxyListener, type ListenerHandlers, type ListenerOptions } from './proxy-listener.ts';
export { classify, detectProtocol, type DetectedProtocol, type Detection } from './detect.ts';
