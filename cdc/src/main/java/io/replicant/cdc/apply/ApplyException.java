package io.replicant.cdc.apply;

import io.replicant.cdc.event.Change;

/** A change a follower cannot take as it is (missing table or column, a row that should exist and does not). */
final class ApplyException extends Exception {
    private static final long serialVersionUID = 1L;

    ApplyException(String message) {
        super(message);
    }

    ApplyException(String message, Change change) {
        super(message + " (" + change + ")");
    }
}
