package io.replicant.router;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

/**
 * Classifications by SQL text. Bounded (Caffeine's W-TinyLFU, which behaves like an LRU that also weighs
 * frequency). Apps that inline literals produce endless distinct texts, so a text with literals is cached by
 * its {@linkplain SqlLexer#literalShape literal shape} unless its classification carries session effects
 * (a SET's text is replayed as written) or
 * the parser could not confirm it.
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
        String shape = SqlLexer.literalShape(sql);
        Classification sameShape = shape == null ? null : cache.getIfPresent(shape);
        if (sameShape != null) {
            listener.hit();
            return sameShape.withSql(sql);
        }
        listener.miss();
        Classification fresh = classifier.classify(sql);
        // an UNSURE text may only have tripped the parser on one literal: it does not speak for its shape
        boolean shareable = shape != null && fresh.effects().isEmpty() && fresh.verdict() != Verdict.UNSURE;
        cache.put(shareable ? shape : sql, fresh);
        return fresh;
    }
}
