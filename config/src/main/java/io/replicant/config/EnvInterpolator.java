package io.replicant.config;

import java.util.Map;

/**
 * Replaces {@code ${NAME}} and {@code ${NAME:-default}} in configuration values with environment variables,
 * so secrets stay out of files. {@code $${} is a literal {@code ${}. An unset variable without a default is an error.
 */
final class EnvInterpolator {
    private final Map<String, String> env;

    EnvInterpolator(Map<String, String> env) {
        this.env = env;
    }

    /** @throws IllegalArgumentException naming the missing variable */
    String interpolate(String text) {
        if (text.indexOf('$') < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '$' && text.startsWith("$${", i)) {
                out.append("${");
                i += 3;
            } else if (c == '$' && text.startsWith("${", i)) {
                int end = text.indexOf('}', i + 2);
                if (end < 0) {
                    throw new IllegalArgumentException("unterminated ${ in value");
                }
                String expr = text.substring(i + 2, end);
                int sep = expr.indexOf(":-");
                String name = sep >= 0 ? expr.substring(0, sep) : expr;
                if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    throw new IllegalArgumentException("'${" + expr + "}' is not a valid environment variable reference");
                }
                String value = env.get(name);
                if (value == null) {
                    if (sep < 0) {
                        throw new IllegalArgumentException("environment variable " + name + " is not set");
                    }
                    value = expr.substring(sep + 2);
                }
                out.append(value);
                i = end + 1;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }
}
