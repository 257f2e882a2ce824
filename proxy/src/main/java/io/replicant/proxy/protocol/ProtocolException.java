package io.replicant.proxy.protocol;

/** A client or server broke the wire protocol: the connection is answered with 08P01 and closed. */
public final class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ProtocolException(String message) {
        super(message);
    }
}
