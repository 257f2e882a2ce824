package io.replicant;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** A Hibernate entity for {@link FrameworksIT}; its table comes from the Flyway migrations. */
@Entity
@Table(schema = "fw", name = "fw_book")
public class Book {
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    private String title;

    protected Book() {
    }

    Book(String title) {
        this.title = title;
    }

    Long getId() {
        return id;
    }

    String getTitle() {
        return title;
    }
}
