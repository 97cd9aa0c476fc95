package io.berth.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.auth.AccessRule;
import io.berth.auth.Action;
import io.berth.auth.TagPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Reads {@code auth.htpasswd}, {@code auth.token} and Berth's {@code berth.tokenIssuer}, {@code access} and tag rules. */
final class SecuritySection {
    private static final Set<String> UNSUPPORTED_AUTH = Set.of("silly", "none");

    private SecuritySection() {}

    static SecurityConfig read(ConfigTree t) {
        JsonNode auth = t.at("auth");
        if (auth != null && auth.isObject()) {
            auth.fieldNames().forEachRemaining(kind -> {
                if (UNSUPPORTED_AUTH.contains(kind) || !(kind.equalsIgnoreCase("htpasswd") || kind.equalsIgnoreCase("token"))) {
                    throw new ConfigException("auth." + kind + ": Berth supports auth.htpasswd and auth.token");
                }
            });
        }
        SecurityConfig.Basic basic = t.at("auth.htpasswd") == null ? null
                : new SecurityConfig.Basic(t.string("auth.htpasswd.realm", "basic-realm"), Path.of(required(t, "auth.htpasswd.path")));
        SecurityConfig.Token token = t.at("auth.token") == null ? null : new SecurityConfig.Token(
                required(t, "auth.token.realm"),
                required(t, "auth.token.service"),
                required(t, "auth.token.issuer"),
                Path.of(required(t, "auth.token.rootcertbundle")),
                optionalPath(t, "auth.token.jwks"),
                t.stringList("auth.token.signingalgorithms"));
        t.accept("auth.token.autoredirect");
        if (basic != null && token != null) {
            throw new ConfigException("auth: configure either auth.htpasswd or auth.token, not both (as registry:2)");
        }
        SecurityConfig.Issuer issuer = null;
        if (t.at("berth.tokenissuer") != null) {
            if (token == null) {
                throw new ConfigException("berth.tokenIssuer: needs auth.token, whose realm it serves and whose rootcertbundle holds its certificate");
            }
            Path cert = optionalPath(t, "berth.tokenissuer.certificate");
            issuer = new SecurityConfig.Issuer(
                    Path.of(required(t, "berth.tokenissuer.htpasswd")),
                    Path.of(required(t, "berth.tokenissuer.key")),
                    cert != null ? cert : token.rootCertBundle(),
                    t.duration("berth.tokenissuer.expiration", Duration.ofMinutes(5)));
        }
        return new SecurityConfig(basic, token, issuer, accessRules(t), immutableTags(t), t.stringList("berth.denytags"));
    }

    private static List<AccessRule> accessRules(ConfigTree t) {
        List<AccessRule> rules = new ArrayList<>();
        JsonNode list = t.use("berth.access");
        if (list == null) {
            return rules;
        }
        if (!list.isArray()) {
            throw new ConfigException("berth.access: expected a list of {account, repositories, actions}");
        }
        for (int i = 0; i < list.size(); i++) {
            String where = "berth.access[" + i + "]";
            JsonNode rule = list.get(i);
            String account = text(rule, "account", where);
            Set<Action> actions = EnumSet.noneOf(Action.class);
            for (String a : strings(rule, "actions", where)) {
                try {
                    actions.add(Action.fromConfig(a));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(where + ".actions: " + e.getMessage());
                }
            }
            try {
                rules.add(new AccessRule(account, strings(rule, "repositories", where), actions));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where + ": " + e.getMessage());
            }
        }
        return rules;
    }

    private static List<TagPolicy.ImmutableTags> immutableTags(ConfigTree t) {
        List<TagPolicy.ImmutableTags> out = new ArrayList<>();
        JsonNode list = t.use("berth.immutabletags");
        if (list == null) {
            return out;
        }
        if (!list.isArray()) {
            throw new ConfigException("berth.immutableTags: expected a list of {repositories, tags}");
        }
        for (int i = 0; i < list.size(); i++) {
            String where = "berth.immutableTags[" + i + "]";
            try {
                out.add(new TagPolicy.ImmutableTags(strings(list.get(i), "repositories", where), strings(list.get(i), "tags", where)));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static String required(ConfigTree t, String path) {
        String v = t.optionalString(path);
        if (v == null) {
            throw new ConfigException(path + ": required");
        }
        return v;
    }

    private static @Nullable Path optionalPath(ConfigTree t, String path) {
        String v = t.optionalString(path);
        return v == null ? null : Path.of(v);
    }

    private static String text(JsonNode node, String field, String where) {
        JsonNode n = ConfigTree.at(node, field);
        if (n == null || !n.isValueNode() || n.asText().isEmpty()) {
            throw new ConfigException(where + "." + field + ": required");
        }
        return n.asText();
    }

    private static List<String> strings(JsonNode node, String field, String where) {
        JsonNode n = ConfigTree.at(node, field);
        List<String> out = new ArrayList<>();
        if (n == null || !n.isArray() || n.isEmpty()) {
            throw new ConfigException(where + "." + field + ": expected a non-empty list");
        }
        n.forEach(v -> out.add(v.asText()));
        return out;
    }
}
