package io.replicant.proxy.backend;

/**
 * How the proxy proves a role to a server: a password from the configuration, or what a client's own login
 * left behind when roles come from {@code proxy.auth_query} — the SCRAM ClientKey and ServerKey recovered
 * from the client's proof, or the stored md5 hash. The proxy never learns those clients' passwords.
 */
public record Credentials(String password, byte[] scramClientKey, byte[] scramServerKey, String md5Hash) {

    public static Credentials password(String password) {
        return new Credentials(password, null, null, null);
    }

    public static Credentials scramKeys(byte[] clientKey, byte[] serverKey) {
        return new Credentials(null, clientKey, serverKey, null);
    }

    /** {@code md5Hash}: pg_authid's {@code md5…} value, {@code "md5" + md5hex(password + user)}. */
    public static Credentials md5(String md5Hash) {
        return new Credentials(null, null, null, md5Hash);
    }

    @Override
    public String toString() {
        return "Credentials[secrets not shown]";
    }
}
