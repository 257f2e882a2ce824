package io.replicant.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Option values that were set explicitly; anything not set reads as the option's default. */
public final class OptionValues {
    private final Map<Option<?>, Object> values;

    OptionValues(Map<Option<?>, Object> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public static OptionValues defaults() {
        return new OptionValues(Map.of());
    }

    @SuppressWarnings("unchecked")
    public <T> T get(Option<T> option) {
        Object value = values.get(option);
        return value != null ? (T) value : option.defaultValue();
    }

    public boolean isSet(Option<?> option) {
        return values.containsKey(option);
    }

    /** Every option with its effective value as text; secrets masked. For logs and {@code SHOW CONFIG}. */
    public Map<String, String> describe() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Option<?> option : ReplicantOptions.all()) {
            out.put(option.name(), describe(option));
        }
        return out;
    }

    private <T> String describe(Option<T> option) {
        T value = get(option);
        if (value == null) {
            return "";
        }
        return option.secret() ? "********" : option.type().format(value);
    }
}
