DROP TABLE IF EXISTS order_lines;

--bun:split

DROP TABLE IF EXISTS orders;

--bun:split

DROP TABLE IF EXISTS refresh_tokens;

--bun:split

DROP TABLE IF EXISTS users;

--bun:split

DROP TABLE IF EXISTS products;
