package io.replicant.proxy.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** PostgreSQL's md5 password answer: {@code "md5" + md5hex(md5hex(password + user) + salt)}. */
public final class Md5Password {
    private Md5Password() {
    }

    public static String encode(String password, String user, byte[] salt) {
        return fromHash(hash(password, user), salt);
    }

    /** What pg_authid stores for an md5 password: {@code "md5" + md5hex(password + user)}. */
    public static String hash(String password, String user) {
        return "md5" + HexFormat.of().formatHex(md5().digest((password + user).getBytes(StandardCharsets.UTF_8)));
    }

    /** The answer to a salt from the stored hash alone (which is why md5 passwords are weak). */
    public static String fromHash(String storedHash, byte[] salt) {
        MessageDigest md = md5();
        md.update(storedHash.substring(3).getBytes(StandardCharsets.US_ASCII));
        md.update(salt);
        return "md5" + HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has MD5", e);
        }
    }
}
