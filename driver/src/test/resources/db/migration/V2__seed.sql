INSERT INTO fw.fw_book (title) VALUES ('Seeded by Flyway');
