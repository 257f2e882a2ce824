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
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has MD5", e);
        }
        String inner = HexFormat.of().formatHex(md.digest((password + user).getBytes(StandardCharsets.UTF_8)));
        md.update(inner.getBytes(StandardCharsets.US_ASCII));
        md.update(salt);
        return "md5" + HexFormat.of().formatHex(md.digest());
    }
}
