package dev.tidings.event;

/**
 * A column of a published table as of the event: its name, the type's display name (e.g.
 * {@code int8}, {@code _text}, {@code myschema.mood}), its type OID and whether it is part of the
 * replica identity key.
 */
public record Column(String name, String type, int typeOid, boolean key) {}
