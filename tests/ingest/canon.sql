-- canon.sql — the user-visible content of a Mail log database in a canonical
-- order and without row ids (messages are named by host, queue id and first
-- time), so two databases built by different runs can be compared with diff.
.mode list
.separator |
SELECT 'M', host, queue_id, first_seen, last_seen, client_host, client_ip, client_country,
       sasl_username, msgid, sender, size, nrcpt, origin, closed,
       coalesce((SELECT p.queue_id || '@' || p.first_seen FROM messages p WHERE p.id = m.parent_id), ''),
       coalesce((SELECT o.queue_id || '@' || o.first_seen FROM messages o WHERE o.id = m.dsn_of), ''),
       hex(coalesce((SELECT lines FROM message_lines l WHERE l.message_id = m.id), ''))
  FROM messages m ORDER BY 2, 3, 4, 5, 10, 11, 18;
SELECT 'D', m.host, m.queue_id, m.first_seen, d.recipient, d.time, d.orig_to, d.relay, d.service,
       d.delay, d.dsn, d.status, d.status_text, d.attempts, d.is_hop, d.sender, d.sent_domain,
       d.size, d.msgid, d.queue_id
  FROM deliveries d JOIN messages m ON m.id = d.message_id ORDER BY 2, 3, 4, 5, 6;
SELECT 'A', time, host, user, ip, country, protocol, success, method, detail
  FROM access_events ORDER BY 2, 3, 4, 5, 7, 8, 10;
SELECT 'FTS', count(*) FROM deliveries_fts;
PRAGMA integrity_check;
