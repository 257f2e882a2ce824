package io.replicant.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

/** Keeps the option registry honest: consistent names, every option documented, every option settable from each source. */
class OptionRegistryTest {

    @Test
    void namesAreUniqueLowerSnakeCase() {
        for (Option<?> option : ReplicantOptions.all()) {
            assertTrue(option.name().matches("[a-z][a-z_]*(\\.[a-z][a-z_]*){0,2}"), option.name());
            assertTrue(option.description().length() > 20, option.name() + " needs a description");
            assertNotNull(option.group());
        }
    }

    /** The README's options table lists exactly the registry, with the registry's defaults. */
    @Test
    void readmeDocumentsEveryOption() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        List<String> documented = new ArrayList<>();
        for (String line : readme.split("\n")) {
            if (line.startsWith("| `") && line.indexOf('|', 2) > 0) {
                String[] cells = line.split("\\|");
                String name = cells[1].trim().replace("`", "");
                Option<?> option = ReplicantOptions.byName(name);
                if (option != null) {
                    documented.add(name);
                    assertEquals("`" + option.defaultText() + "`", cells[2].trim(), "default of " + name + " in README");
                }
            }
        }
        List<String> registered = ReplicantOptions.all().stream().map(Option::name).sorted().toList();
        assertEquals(registered, documented.stream().sorted().toList(), "README options table vs ReplicantOptions");
    }

    @Test
    void everyOptionIsSettableFromYamlUrlAndProperties() {
        for (Option<?> option : ReplicantOptions.all()) {
            String value = sample(option);
            String[] path = option.name().split("\\.");
            StringBuilder yaml = new StringBuilder("hosts: [h]\n");
            for (int i = 0; i < path.length; i++) { // proxy.tls.cert is proxy: {tls: {cert: …}}
                yaml.append("  ".repeat(i)).append(path[i]).append(':')
                        .append(i == path.length - 1 ? " " + value : "").append('\n');
            }
            ReplicantConfig fromYaml = YamlConfigLoader.parse("t.yaml", yaml.toString(), Map.of()).build();
            ReplicantConfig fromUrl = ReplicantUrl.parse("jdbc:replicant:postgresql://h/?" + option.name() + "=" + value,
                    null, Map.of(), null);
            Properties props = new Properties();
            props.setProperty(option.name(), value);
            ReplicantConfig fromProps = ReplicantUrl.parse("jdbc:replicant:postgresql://h/", props, Map.of(), null);
            assertTrue(fromYaml.options().isSet(option), option.name());
            assertEquals(fromYaml.get(option), fromUrl.get(option), option.name());
            assertEquals(fromYaml.get(option), fromProps.get(option), option.name());
        }
    }

    private static String sample(Option<?> option) {
        String description = option.type().description();
        if (description.startsWith("one of ")) {
            String[] values = description.substring(7).split(" \\| ");
            return values[values.length - 1];
        }
        if (description.startsWith("an integer")) {
            return "7";
        }
        if (description.startsWith("a duration")) {
            return "30s";
        }
        if (description.startsWith("a list")) {
            return "fn_a";
        }
        if (description.startsWith("a size")) {
            return "64kB";
        }
        if (description.startsWith("true or false")) {
            return "true";
        }
        return "sample";
    }
}
