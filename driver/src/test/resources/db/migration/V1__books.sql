CREATE TABLE fw.fw_book (
    id bigserial PRIMARY KEY,
    title text NOT NULL
);
