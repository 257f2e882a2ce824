package io.replicant.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How an option's text is turned into a value. Every source (URL, Properties, YAML) hands over text,
 * so one parser per type keeps the three sources identical.
 */
public abstract class ValueType<T> {

    /** What a valid value looks like, used in error messages: "expected &lt;description&gt;, got 'x'". */
    public abstract String description();

    /** @throws IllegalArgumentException with a message of the form "expected …, got '…'" */
    public abstract T parse(String text);

    /** True for list types, which YAML may give as a sequence. */
    public boolean isList() {
        return false;
    }

    /** The canonical text of a value, as the docs and {@code SHOW CONFIG} print it. */
    public String format(T value) {
        return String.valueOf(value);
    }

    protected IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException("expected " + description() + ", got '" + text + "'");
    }

    public static ValueType<String> text() {
        return new ValueType<>() {
            @Override
            public String description() {
                return "a string";
            }

            @Override
            public String parse(String text) {
                return text;
            }
        };
    }

    public static ValueType<Integer> integer(int min, int max) {
        return new ValueType<>() {
            @Override
            public String description() {
                return "an integer " + min + ".." + max;
            }

            @Override
            public Integer parse(String text) {
                try {
                    int value = Integer.parseInt(text.trim());
                    if (value < min || value > max) {
                        throw invalid(text);
                    }
                    return value;
                } catch (NumberFormatException e) {
                    throw invalid(text);
                }
            }
        };
    }

    public static ValueType<Boolean> bool() {
        return new ValueType<>() {
            @Override
            public String description() {
                return "true or false";
            }

            @Override
            public Boolean parse(String text) {
                switch (text.trim().toLowerCase(Locale.ROOT)) {
                    case "true":
                        return true;
                    case "false":
                        return false;
                    default:
                        throw invalid(text);
                }
            }
        };
    }

    /** One of a fixed set of lower-case words; no case folding, so a typo is never "corrected". */
    public static ValueType<String> oneOf(String... allowed) {
        List<String> values = List.of(allowed);
        return new ValueType<>() {
            @Override
            public String description() {
                return "one of " + String.join(" | ", values);
            }

            @Override
            public String parse(String text) {
                String value = text.trim();
                if (!values.contains(value)) {
                    throw invalid(text);
                }
                return value;
            }
        };
    }

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

    /** A duration with its unit: {@code 250ms}, {@code 10s}, {@code 5m}, {@code 1h}. A bare number is refused. */
    public static ValueType<Duration> duration(Duration min, Duration max) {
        return new ValueType<>() {
            @Override
            public String description() {
                return "a duration like 250ms, 10s, 5m or 1h, between " + format(min) + " and " + format(max);
            }

            @Override
            public Duration parse(String text) {
                Matcher m = DURATION.matcher(text.trim());
                if (!m.matches()) {
                    throw invalid(text);
                }
                long amount;
                try {
                    amount = Long.parseLong(m.group(1));
                } catch (NumberFormatException e) {
                    throw invalid(text);
                }
                Duration value;
                switch (m.group(2)) {
                    case "ms":
                        value = Duration.ofMillis(amount);
                        break;
                    case "s":
                        value = Duration.ofSeconds(amount);
                        break;
                    case "m":
                        value = Duration.ofMinutes(amount);
                        break;
                    default:
                        value = Duration.ofHours(amount);
                }
                if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                    throw invalid(text);
                }
                return value;
            }

            @Override
            public String format(Duration value) {
                long ms = value.toMillis();
                if (ms % 3_600_000 == 0 && ms != 0) {
                    return ms / 3_600_000 + "h";
                }
                if (ms % 60_000 == 0 && ms != 0) {
                    return ms / 60_000 + "m";
                }
                if (ms % 1000 == 0) {
                    return ms / 1000 + "s";
                }
                return ms + "ms";
            }
        };
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|kB|MB|GB)");

    /** A byte size with its unit: {@code 512B}, {@code 64kB}, {@code 16MB}, {@code 1GB} (units of 1024). */
    public static ValueType<Long> byteSize(long min, long max) {
        return new ValueType<>() {
            @Override
            public String description() {
                return "a size like 512B, 64kB, 16MB or 1GB, between " + format(min) + " and " + format(max);
            }

            @Override
            public Long parse(String text) {
                Matcher m = SIZE.matcher(text.trim());
                if (!m.matches()) {
                    throw invalid(text);
                }
                long value;
                try {
                    long unit = switch (m.group(2)) {
                        case "kB" -> 1L << 10;
                        case "MB" -> 1L << 20;
                        case "GB" -> 1L << 30;
                        default -> 1L;
                    };
                    value = Math.multiplyExact(Long.parseLong(m.group(1)), unit);
                } catch (ArithmeticException | NumberFormatException e) {
                    throw invalid(text);
                }
                if (value < min || value > max) {
                    throw invalid(text);
                }
                return value;
            }

            @Override
            public String format(Long value) {
                for (String unit : new String[] {"GB", "MB", "kB"}) {
                    long size = unit.equals("GB") ? 1L << 30 : unit.equals("MB") ? 1L << 20 : 1L << 10;
                    if (value != 0 && value % size == 0) {
                        return value / size + unit;
                    }
                }
                return value + "B";
            }
        };
    }

    /** A list of names: a YAML sequence, or comma-separated text in a URL or Properties. */
    public static ValueType<List<String>> nameList() {
        return list("a list of names", name -> {
            if (!name.matches("[A-Za-z_][A-Za-z0-9_$.]*")) {
                throw new IllegalArgumentException("expected a list of names, got '" + name + "'");
            }
        });
    }

    /** A list of regular expressions (matched against whole names): a YAML sequence, or comma-separated text. */
    public static ValueType<List<String>> patternList() {
        return list("a list of regular expressions", regex -> {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("invalid regular expression '" + regex + "': " + e.getDescription());
            }
        });
    }

    /** Comma-separated items, each trimmed and checked by {@code check} (which throws on a bad one). */
    private static ValueType<List<String>> list(String description, Consumer<String> check) {
        return new ValueType<>() {
            @Override
            public String description() {
                return description;
            }

            @Override
            public List<String> parse(String text) {
                List<String> out = new ArrayList<>();
                for (String part : text.split(",")) {
                    String item = part.trim();
                    if (!item.isEmpty()) {
                        check.accept(item);
                        out.add(item);
                    }
                }
                return List.copyOf(out);
            }

            @Override
            public String format(List<String> value) {
                return String.join(",", value);
            }

            @Override
            public boolean isList() {
                return true;
            }
        };
    }
}
