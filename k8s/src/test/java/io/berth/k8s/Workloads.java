package io.berth.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Pods and every kind of object that carries a pod template, as the API server receives them. */
final class Workloads {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The default allowed host (admission/params.yaml). */
    static final String HOST = "registry.mycorp.local";
    static final String HEX = "0123456789abcdef".repeat(4);
    static final String DIGEST = "sha256:" + HEX;

    /** Each kind the policy covers, with its API path and how its pod template is nested. */
    enum Kind {
        POD("Pod", "v1", "pods"),
        DEPLOYMENT("Deployment", "apps/v1", "deployments"),
        REPLICA_SET("ReplicaSet", "apps/v1", "replicasets"),
        STATEFUL_SET("StatefulSet", "apps/v1", "statefulsets"),
        DAEMON_SET("DaemonSet", "apps/v1", "daemonsets"),
        JOB("Job", "batch/v1", "jobs"),
        CRON_JOB("CronJob", "batch/v1", "cronjobs"),
        REPLICATION_CONTROLLER("ReplicationController", "v1", "replicationcontrollers"),
        POD_TEMPLATE("PodTemplate", "v1", "podtemplates");

        final String kind;
        final String apiVersion;
        final String resource;

        Kind(String kind, String apiVersion, String resource) {
            this.kind = kind;
            this.apiVersion = apiVersion;
            this.resource = resource;
        }

        String collection(String namespace) {
            String prefix = apiVersion.contains("/") ? "/apis/" + apiVersion : "/api/" + apiVersion;
            return prefix + "/namespaces/" + namespace + "/" + resource;
        }

        boolean restartsNever() {
            return this == JOB || this == CRON_JOB;
        }
    }

    private Workloads() {}

    static String good(String repository) {
        return HOST + "/" + repository + "@" + DIGEST;
    }

    static ObjectNode container(String name, String image) {
        return JSON.createObjectNode().put("name", name).put("image", image);
    }

    /** A pod spec with one container {@code app} running {@code image}. */
    static ObjectNode podSpec(String image) {
        ObjectNode spec = JSON.createObjectNode();
        spec.putArray("containers").add(container("app", image));
        return spec;
    }

    static ObjectNode withInit(ObjectNode spec, String image) {
        spec.withArray("initContainers").add(container("init", image));
        return spec;
    }

    /** An object of {@code kind} named {@code name} whose pods run {@code spec}. */
    static ObjectNode object(Kind kind, String name, ObjectNode spec) {
        ObjectNode o = JSON.createObjectNode().put("apiVersion", kind.apiVersion).put("kind", kind.kind);
        o.putObject("metadata").put("name", name);
        ObjectNode podSpec = spec.deepCopy();
        podSpec.put("restartPolicy", kind == Kind.POD || kind == Kind.POD_TEMPLATE ? "Always"
                : kind.restartsNever() ? "Never" : "Always");
        ObjectNode template = JSON.createObjectNode();
        template.putObject("metadata").putObject("labels").put("app", name);
        template.set("spec", podSpec);
        switch (kind) {
            case POD -> o.set("spec", podSpec);
            case POD_TEMPLATE -> o.set("template", template);
            case JOB -> o.putObject("spec").set("template", template);
            case CRON_JOB -> {
                ObjectNode cron = o.putObject("spec").put("schedule", "0 3 * * *");
                cron.putObject("jobTemplate").putObject("spec").set("template", template);
            }
            case REPLICATION_CONTROLLER -> {
                ObjectNode s = o.putObject("spec").put("replicas", 1);
                s.putObject("selector").put("app", name);
                s.set("template", template);
            }
            default -> {
                ObjectNode s = o.putObject("spec");
                s.putObject("selector").putObject("matchLabels").put("app", name);
                s.set("template", template);
            }
        }
        return o;
    }

    static ObjectNode pod(String name, String image) {
        return object(Kind.POD, name, podSpec(image));
    }
}
