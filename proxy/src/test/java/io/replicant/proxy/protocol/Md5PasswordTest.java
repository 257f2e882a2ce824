package io.replicant.proxy.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class Md5PasswordTest {
    @Test
    void storedHashIsWhatPostgresKeepsInPgAuthid() {
        assertEquals("md53175bce1d3201d16594cebf9d7eb3f9d", Md5Password.hash("postgres", "postgres"));
    }

    @Test
    void theAnswerFromTheStoredHashEqualsTheAnswerFromThePassword() {
        byte[] salt = {1, 2, 3, 4};
        assertEquals(Md5Password.encode("secret", "app", salt),
                Md5Password.fromHash(Md5Password.hash("secret", "app"), salt));
    }
}
