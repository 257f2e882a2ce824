package io.replicant.proxy.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import io.replicant.router.SessionEffect;
import io.replicant.router.StatementClassifier;

class TrackedParametersTest {
    private final StatementClassifier classifier = new StatementClassifier();

    private SessionEffect effectOf(String sql) {
        List<SessionEffect> effects = classifier.classify(sql).effects();
        assertEquals(1, effects.size(), sql);
        return effects.get(0);
    }

    @Test
    void poolsAreKeyedWithoutTheTrackedParametersWhateverTheirCase() {
        Map<String, String> startup = Map.of("user", "app", "database", "db", "timezone", "UTC", "DateStyle", "ISO",
                "application_name", "x", "extra_float_digits", "3", "options", "-c geqo=off");
        assertEquals(Map.of("user", "app", "database", "db", "options", "-c geqo=off"),
                TrackedParameters.withoutTracked(startup));
        assertEquals(Map.of("TimeZone", "UTC", "DateStyle", "ISO", "application_name", "x", "extra_float_digits", "3"),
                TrackedParameters.sentIn(startup));
    }

    @Test
    void resetsAreRecognisedInEveryFormPostgreSqlAccepts() {
        assertEquals(Set.copyOf(TrackedParameters.NAMES), TrackedParameters.resetBy(effectOf("RESET ALL")));
        assertEquals(Set.copyOf(TrackedParameters.NAMES), TrackedParameters.resetBy(effectOf("DISCARD ALL")));
        assertEquals(Set.of("TimeZone"), TrackedParameters.resetBy(effectOf("reset timezone")));
        assertEquals(Set.of("TimeZone"), TrackedParameters.resetBy(effectOf("RESET TIME ZONE")));
        assertEquals(Set.of("TimeZone"), TrackedParameters.resetBy(effectOf("SET TIME ZONE LOCAL")));
        assertEquals(Set.of("TimeZone"), TrackedParameters.resetBy(effectOf("set session \"TimeZone\" to default")));
        assertEquals(Set.of("DateStyle"), TrackedParameters.resetBy(effectOf("SET datestyle = DEFAULT;")));
        assertEquals(Set.of("client_encoding"), TrackedParameters.resetBy(effectOf("SET NAMES DEFAULT")));
        assertEquals(Set.of("application_name"), TrackedParameters.resetBy(effectOf("RESET application_name")));
        assertEquals(Set.of(), TrackedParameters.resetBy(effectOf("RESET work_mem")));
        assertEquals(Set.of(), TrackedParameters.resetBy(effectOf("SET TimeZone = 'UTC'")));
        assertEquals(Set.of(), TrackedParameters.resetBy(effectOf("SET application_name = 'default'")));
    }

    @Test
    void setsOfATrackedParameterAreRecognised() {
        assertEquals(Optional.of("TimeZone"), TrackedParameters.setBy(effectOf("SET TimeZone = 'UTC'")));
        assertEquals(Optional.of("TimeZone"), TrackedParameters.setBy(effectOf("SET SESSION TIME ZONE 'UTC'")));
        assertEquals(Optional.of("client_encoding"), TrackedParameters.setBy(effectOf("SET NAMES 'LATIN1'")));
        assertEquals(Optional.of("IntervalStyle"), TrackedParameters.setBy(effectOf("set intervalstyle to iso_8601")));
        assertEquals(Optional.empty(), TrackedParameters.setBy(effectOf("SET TimeZone TO DEFAULT")));
        assertEquals(Optional.empty(), TrackedParameters.setBy(effectOf("SET work_mem = '8MB'")));
        assertEquals(Optional.empty(), TrackedParameters.setBy(effectOf("SET timezone_abbreviations = 'Default'")));
    }

    @Test
    void aConnectionIsSetOnlyWhereItDiffersAndResetWhereItCarriesWhatTheClientDidNotSend() {
        Map<String, String> carried = new LinkedHashMap<>();
        carried.put("TimeZone", "UTC");
        carried.put("DateStyle", "ISO");
        carried.put("application_name", "a");
        Map<String, String> wanted = new LinkedHashMap<>();
        wanted.put("TimeZone", "UTC");
        wanted.put("application_name", "it's b\\");
        assertEquals(List.of("SET application_name = E'it\\'s b\\\\'", "RESET DateStyle"),
                TrackedParameters.changes(carried, wanted));
        assertEquals(List.of(), TrackedParameters.changes(wanted, wanted));
    }
}
