package io.replicant.cdc.source;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.storage.MemoryOffsetBackingStore;

/**
 * Debezium's offsets in a file that a crash cannot corrupt: each save writes a new file, forces it to disk and
 * renames it over the old one. (Kafka's FileOffsetBackingStore rewrites the file in place; a process killed
 * mid-write left an empty store, and the next start copied every table again.)
 */
public final class AtomicFileOffsetStore extends MemoryOffsetBackingStore {
    private static final int FORMAT = 1;
    private Path file;

    @Override
    public void configure(WorkerConfig config) {
        super.configure(config);
        file = Path.of(config.getString("offset.storage.file.filename"));
    }

    @Override
    public synchronized void start() {
        super.start();
        data = load(file);
    }

    @Override
    protected void save() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(FORMAT);
            out.writeInt(data.size());
            for (Map.Entry<ByteBuffer, ByteBuffer> entry : data.entrySet()) {
                write(out, entry.getKey());
                write(out, entry.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                channel.write(ByteBuffer.wrap(bytes.toByteArray()));
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save CDC offsets to " + file, e);
        }
    }

    @Override
    public Set<Map<String, Object>> connectorPartitions(String connectorName) {
        return Set.of(); // only Kafka Connect's REST API asks
    }

    static Map<ByteBuffer, ByteBuffer> load(Path file) {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new HashMap<>();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CDC offsets from " + file, e);
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(content))) {
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalStateException(file + " is not a Replicant offset file (format " + format + ")");
            }
            int count = in.readInt();
            Map<ByteBuffer, ByteBuffer> map = new HashMap<>();
            for (int i = 0; i < count; i++) {
                map.put(read(in), read(in));
            }
            return map;
        } catch (IOException e) {
            throw new IllegalStateException(file + " is damaged; it was not written by this version", e);
        }
    }

    private static void write(DataOutputStream out, ByteBuffer buffer) throws IOException {
        if (buffer == null) {
            out.writeInt(-1);
            return;
        }
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static ByteBuffer read(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0) {
            return null;
        }
        byte[] bytes = new byte[length];
        in.readFully(bytes);
        return ByteBuffer.wrap(bytes);
    }
}
