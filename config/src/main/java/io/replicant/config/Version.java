package io.replicant.config;

/** Replicant's version, in one place: the commands' --version, the JDBC driver and the proxy's SHOW VERSION. */
public final class Version {
    public static final int MAJOR = 0;
    public static final int MINOR = 1;
    public static final String NUMBER = MAJOR + "." + MINOR + ".0";

    private Version() {
    }
}
