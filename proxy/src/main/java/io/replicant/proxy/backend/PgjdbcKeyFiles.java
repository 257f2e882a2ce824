package io.replicant.proxy.backend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.net.ssl.KeyManagerFactory;

import org.postgresql.PGProperty;

import io.replicant.config.ConfigException;
import io.replicant.config.SqlState;

/**
 * Reads the certificate and key files the {@code jdbc:} section names, in the formats pgjdbc reads (PEM or DER
 * certificates, DER PKCS-8 keys optionally encrypted, PKCS-12 key stores), with pgjdbc's defaults in
 * ~/.postgresql; a file that cannot be read is a configuration error naming the property.
 */
final class PgjdbcKeyFiles {
    private static final Path USER_DEFAULTS = Path.of(System.getProperty("user.home"), ".postgresql");

    private PgjdbcKeyFiles() {
    }

    /**
     * The property's file, or the default one in ~/.postgresql. A file named in the configuration must exist; a
     * default one only when {@code defaultRequired} (verify-ca and verify-full need the root certificate).
     */
    static Path file(Map<String, String> properties, PGProperty property, String defaultName,
            boolean defaultRequired, String origin) {
        String named = properties.get(property.getName());
        Path path = named != null ? Path.of(named) : USER_DEFAULTS.resolve(defaultName);
        if (Files.isReadable(path)) {
            return path;
        }
        if (named == null && !defaultRequired) {
            return null;
        }
        throw new ConfigException("jdbc." + property.getName(), "cannot read " + path
                + (named == null ? " (the default; set jdbc." + property.getName() + " to the certificate authority "
                        + "that signed the servers' certificates)" : ""), origin, SqlState.CONFIG_FILE_ERROR, null);
    }

    static List<X509Certificate> certificates(Path file, PGProperty property, String origin) {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> certificates = new ArrayList<>();
            CertificateFactory.getInstance("X.509").generateCertificates(in)
                    .forEach(c -> certificates.add((X509Certificate) c));
            if (certificates.isEmpty()) {
                throw new GeneralSecurityException("no certificate in it");
            }
            return certificates;
        } catch (IOException | GeneralSecurityException e) {
            throw unreadable(property, file, "X.509 certificates (PEM or DER)", e, origin);
        }
    }

    static PrivateKey privateKey(Path file, String password, String origin) {
        try {
            byte[] der = Files.readAllBytes(file);
            PKCS8EncodedKeySpec spec;
            try {
                EncryptedPrivateKeyInfo encrypted = new EncryptedPrivateKeyInfo(der);
                // PBES2 (openssl's default) names its real algorithm in the parameters: PBEWithHmacSHA256AndAES_256
                String algorithm = encrypted.getAlgName().equals("PBES2") ? encrypted.getAlgParameters().toString()
                        : encrypted.getAlgName();
                Cipher cipher = Cipher.getInstance(algorithm);
                cipher.init(Cipher.DECRYPT_MODE, SecretKeyFactory.getInstance(algorithm)
                        .generateSecret(new PBEKeySpec(password.toCharArray())), encrypted.getAlgParameters());
                spec = encrypted.getKeySpec(cipher);
            } catch (IOException notEncrypted) {
                spec = new PKCS8EncodedKeySpec(der);
            }
            for (String algorithm : List.of("RSA", "EC", "EdDSA")) {
                try {
                    return KeyFactory.getInstance(algorithm).generatePrivate(spec);
                } catch (GeneralSecurityException tryNext) {
                    // the key is of another algorithm
                }
            }
            throw new GeneralSecurityException("not an RSA, EC or EdDSA key");
        } catch (IOException | GeneralSecurityException e) {
            throw unreadable(PGProperty.SSL_KEY, file, "a DER PKCS-8 private key (openssl pkcs8 -topk8 -outform DER; "
                    + "if encrypted, with jdbc.sslpassword)", e, origin);
        }
    }

    static KeyManagerFactory pkcs12(Path file, String password, String origin) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password.toCharArray());
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password.toCharArray());
            return keys;
        } catch (IOException | GeneralSecurityException e) {
            throw unreadable(PGProperty.SSL_KEY, file, "a PKCS-12 key store (with jdbc.sslpassword)", e, origin);
        }
    }

    private static ConfigException unreadable(PGProperty property, Path file, String expected, Exception cause,
            String origin) {
        return new ConfigException("jdbc." + property.getName(), "cannot read " + file + " as " + expected + ": "
                + cause.getMessage(), origin, SqlState.CONFIG_FILE_ERROR, cause);
    }
}
