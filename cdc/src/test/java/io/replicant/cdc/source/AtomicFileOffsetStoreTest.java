package io.replicant.cdc.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.kafka.connect.runtime.standalone.StandaloneConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileOffsetStoreTest {
    @TempDir
    Path dir;

    private AtomicFileOffsetStore store(Path file) {
        AtomicFileOffsetStore store = new AtomicFileOffsetStore();
        Map<String, String> settings = new HashMap<>();
        settings.put("offset.storage.file.filename", file.toString());
        settings.put("bootstrap.servers", "unused:9092");
        settings.put("key.converter", "org.apache.kafka.connect.json.JsonConverter");
        settings.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
        store.configure(new StandaloneConfig(settings));
        store.start();
        return store;
    }

    private static ByteBuffer bytes(String text) {
        return ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void savedOffsetsAreReadBackAndNoTemporaryFileStays() throws Exception {
        Path file = dir.resolve("offsets");
        AtomicFileOffsetStore store = store(file);
        Map<ByteBuffer, ByteBuffer> offsets = new HashMap<>();
        offsets.put(bytes("partition"), bytes("{\"lsn\":42}"));
        offsets.put(bytes("tombstone"), null);
        store.set(offsets, null).get();
        store.stop();

        assertEquals(offsets, AtomicFileOffsetStore.load(file));
        assertEquals(offsets, store(file).get(offsets.keySet()).get());
        assertTrue(Files.notExists(dir.resolve("offsets.tmp")));
    }

    @Test
    void aMissingFileIsAnEmptyStoreAndAForeignFileIsRefused() throws Exception {
        assertTrue(AtomicFileOffsetStore.load(dir.resolve("none")).isEmpty());
        Path foreign = dir.resolve("foreign");
        Files.writeString(foreign, "not offsets at all");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> AtomicFileOffsetStore.load(foreign));
        assertTrue(e.getMessage().contains("is not a Replicant offset file"), e.getMessage());
    }
}
