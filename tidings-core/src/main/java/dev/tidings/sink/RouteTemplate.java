package dev.tidings.sink;

import dev.tidings.event.ChangeEvent;

import java.util.ArrayList;
import java.util.List;

/**
 * A topic, stream, subject or routing key computed per event from a template such as
 * {@code tidings.${schema}.${table}}. Placeholders: {@code ${schema}}, {@code ${table}},
 * {@code ${op}}. Parsed once; {@link #render} does no parsing. Thread-safe.
 */
public final class RouteTemplate {
    private final String template;
    private final List<Object> parts = new ArrayList<>();

    private enum Field { SCHEMA, TABLE, OP }

    private RouteTemplate(String template) {
        this.template = template;
        int i = 0;
        while (i < template.length()) {
            int open = template.indexOf("${", i);
            if (open < 0) {
                parts.add(template.substring(i));
                break;
            }
            int close = template.indexOf('}', open);
            if (close < 0) {
                throw new IllegalArgumentException("unclosed ${ in route template '" + template + "'");
            }
            if (open > i) {
                parts.add(template.substring(i, open));
            }
            String name = template.substring(open + 2, close);
            parts.add(switch (name) {
                case "schema" -> Field.SCHEMA;
                case "table" -> Field.TABLE;
                case "op" -> Field.OP;
                default -> throw new IllegalArgumentException("unknown placeholder ${" + name + "} in route template '"
                        + template + "'; use ${schema}, ${table} or ${op}");
            });
            i = close + 1;
        }
    }

    public static RouteTemplate parse(String template) {
        if (template == null || template.isBlank()) {
            throw new IllegalArgumentException("empty route template; e.g. tidings.${schema}.${table}");
        }
        return new RouteTemplate(template);
    }

    public String render(ChangeEvent event) {
        if (parts.size() == 1 && parts.get(0) instanceof String s) {
            return s;
        }
        StringBuilder b = new StringBuilder(template.length() + 16);
        for (Object part : parts) {
            if (part instanceof String s) {
                b.append(s);
            } else {
                b.append(switch ((Field) part) {
                    case SCHEMA -> event.schema();
                    case TABLE -> event.table();
                    case OP -> event.op().json();
                });
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return template;
    }
}
