package io.replicant.cdc.event;

/**
 * Marks a unit as part of a re-copy of one table while streaming: the table's current rows, read again from the
 * source. A follower replaces its rows of the table with them in one transaction, from the unit that
 * {@code begins} to the one that {@code ends}, so rows the source no longer has go too and readers see the old
 * rows until the new ones are all there.
 */
public record Recopy(TableId table, boolean begins, boolean ends) {
}
