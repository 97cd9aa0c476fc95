package io.berth.server.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The images of a pod, or of the pod template a workload turns into pods, as the ValidatingAdmissionPolicy reads
 * them ({@code k8s/admission/policy.yaml}): Pod and PodTemplate, CronJob's job template, and {@code spec.template}
 * of every other kind (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController).
 */
final class PodImages {
    private PodImages() {}

    /**
     * One container's image.
     *
     * @param field {@code container}, {@code initContainer} or {@code ephemeralContainer}
     * @param name the container's name
     * @param image the image reference as written
     */
    record Image(String field, String name, String image) {
        @Override
        public String toString() {
            return field + " \"" + Messages.clip(name) + "\" image \"" + Messages.clip(image) + "\"";
        }
    }

    /** The images of {@code object}, of kind {@code kind}; empty when it holds no pod spec. */
    static List<Image> of(String kind, JsonNode object) {
        JsonNode spec = switch (kind) {
            case "Pod" -> object.path("spec");
            case "PodTemplate" -> object.path("template").path("spec");
            case "CronJob" -> object.path("spec").path("jobTemplate").path("spec").path("template").path("spec");
            default -> object.path("spec").path("template").path("spec");
        };
        List<Image> out = new ArrayList<>();
        add(out, "container", spec.path("containers"));
        add(out, "initContainer", spec.path("initContainers"));
        add(out, "ephemeralContainer", spec.path("ephemeralContainers"));
        return out;
    }

    private static void add(List<Image> out, String field, JsonNode containers) {
        for (JsonNode c : containers) {
            out.add(new Image(field, c.path("name").asText(""), c.path("image").asText("")));
        }
    }
}
