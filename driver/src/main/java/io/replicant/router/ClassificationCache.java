package io.replicant.router;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * Classifications by SQL text. Bounded (Caffeine's W-TinyLFU, which behaves like an LRU that also weighs
 * frequency), because apps that inline literals produce endless distinct texts.
 */
public final class ClassificationCache {
    private final StatementClassifier classifier;
    private final Cache<String, Classification> cache;
    private final CacheListener listener;

    /** Told about hits and misses, for metrics. */
    public interface CacheListener {
        void hit();

        void miss();

        CacheListener NONE = new CacheListener() {
            @Override
            public void hit() {
            }

            @Override
            public void miss() {
            }
        };
    }

    public ClassificationCache(StatementClassifier classifier, int maximumSize, CacheListener listener) {
        this.classifier = classifier;
        this.cache = maximumSize > 0 ? Caffeine.newBuilder().maximumSize(maximumSize).build() : null;
        this.listener = listener;
    }

    public Classification get(String sql) {
        if (cache == null) {
            listener.miss();
            return classifier.classify(sql);
        }
        Classification cached = cache.getIfPresent(sql);
        if (cached != null) {
            listener.hit();
            return cached;
        }
        listener.miss();
        Classification fresh = classifier.classify(sql);
        cache.put(sql, fresh);
        return fresh;
    }
}
