package io.replicant;

/** A route forced through {@link ReplicantConnection}. */
public enum Route {
    /** Run on the primary. */
    PRIMARY,
    /**
     * Run on a replica. A statement that certainly writes still goes to the primary; this only overrides the
     * router's caution (volatile or unknown functions, SQL it cannot parse).
     */
    REPLICA,
    /** Run on any member of the read pool, primary included. Same caution as {@link #REPLICA}. */
    ANY;

    String hintValue() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
