package io.replicant.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A throwaway certificate authority in a directory, and certificates it signs, made with openssl (which the CI
 * script installs): enough for TLS tests with verification, client certificates and a second, untrusted CA.
 */
public final class TestCertificates {
    /** A certificate and its private key, both PEM. */
    public record Issued(Path certificate, Path key) {
    }

    private final Path dir;
    private final Issued authority;

    private TestCertificates(Path dir, Issued authority) {
        this.dir = dir;
        this.authority = authority;
    }

    /** Makes a new self-signed certificate authority named {@code name} in {@code dir}. */
    public static TestCertificates authority(Path dir, String name) {
        Issued ca = new Issued(dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
        OsCommand.runAsSelf("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=" + name, "-keyout", ca.key().toString(), "-out", ca.certificate().toString());
        return new TestCertificates(dir, ca);
    }

    public Path certificate() {
        return authority.certificate();
    }

    /**
     * A certificate for {@code commonName} signed by this authority; {@code subjectAltName} in openssl's syntax
     * ({@code IP:127.0.0.1}, {@code DNS:db.example}), or null for none.
     */
    public Issued issue(String file, String commonName, String subjectAltName) {
        Issued issued = new Issued(dir.resolve(file + ".crt"), dir.resolve(file + ".key"));
        Path request = dir.resolve(file + ".csr");
        OsCommand.runAsSelf("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + commonName,
                "-keyout", issued.key().toString(), "-out", request.toString());
        Path extensions = dir.resolve(file + ".ext");
        write(extensions, subjectAltName == null ? "" : "subjectAltName = " + subjectAltName + "\n");
        OsCommand.runAsSelf("openssl", "x509", "-req", "-in", request.toString(), "-CA", certificate().toString(),
                "-CAkey", authority.key().toString(), "-CAcreateserial", "-days", "2", "-extfile",
                extensions.toString(), "-out", issued.certificate().toString());
        return issued;
    }

    /** The key in DER PKCS-8, pgjdbc's format for sslkey; encrypted when {@code password} is not null. */
    public Path derKey(Issued issued, String password) {
        Path der = dir.resolve(issued.key().getFileName() + (password == null ? ".pk8" : ".encrypted.pk8"));
        if (password == null) {
            OsCommand.runAsSelf("openssl", "pkcs8", "-topk8", "-outform", "DER", "-nocrypt", "-in",
                    issued.key().toString(), "-out", der.toString());
        } else {
            OsCommand.runAsSelf("openssl", "pkcs8", "-topk8", "-outform", "DER", "-v2", "aes-256-cbc", "-passout",
                    "pass:" + password, "-in", issued.key().toString(), "-out", der.toString());
        }
        return der;
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
