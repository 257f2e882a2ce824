INSERT INTO fw_book (title) VALUES ('Seeded by Flyway');
