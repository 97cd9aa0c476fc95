package io.berth.server.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import io.berth.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Answers Kubernetes {@code AdmissionReview} v1 requests for pods and workloads. Every image must be
 * {@code <host>/<repository>[:<tag>]@sha256:<hex>} with {@code host} one of the registry's host names, exactly as
 * the ValidatingAdmissionPolicy requires, and then {@link ImageVerdicts} must accept it: the manifest is in the
 * registry and the trust policy holds. An UPDATE that leaves every image as it was is admitted, as the policy does.
 * Every refusal names the container, the image and the reason. Thread-safe.
 */
public final class AdmissionReviews {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final String API_VERSION = "admission.k8s.io/v1";

    private final Set<String> hosts;
    private final ImageVerdicts verdicts;

    /**
     * @param hosts the registry host names images use, as written in image references (with the port if not 443)
     * @param verdicts what decides whether a pinned image may run
     */
    public AdmissionReviews(List<String> hosts, ImageVerdicts verdicts) {
        this.hosts = Set.copyOf(hosts);
        this.verdicts = verdicts;
    }

    /** The AdmissionReview answering {@code review}; a malformed review gets an answer refusing it. */
    public ObjectNode answer(JsonNode review) {
        JsonNode request = review.path("request");
        String uid = request.path("uid").asText("");
        ObjectNode out = JSON.createObjectNode();
        out.put("apiVersion", review.path("apiVersion").asText(API_VERSION));
        out.put("kind", "AdmissionReview");
        ObjectNode response = out.putObject("response");
        response.put("uid", uid);
        String refusal;
        if (!request.isObject() || uid.isEmpty()) {
            refusal = "not an AdmissionReview request";
        } else {
            refusal = refusal(request);
        }
        response.put("allowed", refusal == null);
        if (refusal != null) {
            ObjectNode status = response.putObject("status");
            status.put("code", 403);
            status.put("reason", "Forbidden");
            status.put("message", refusal);
        }
        return out;
    }

    private @Nullable String refusal(JsonNode request) {
        String kind = request.path("kind").path("kind").asText("");
        List<PodImages.Image> images = PodImages.of(kind, request.path("object"));
        if (request.path("operation").asText("").equals("UPDATE")) {
            JsonNode old = request.path("oldObject");
            if (old.isObject() && Objects.equals(images, PodImages.of(kind, old))) {
                return null;
            }
        }
        List<String> refused = new ArrayList<>();
        for (PodImages.Image image : images) {
            String why = check(image.image());
            if (why != null) {
                refused.add(image + ": " + why);
            }
        }
        return refused.isEmpty() ? null : "Berth refused " + String.join("; ", refused);
    }

    /** Why one image reference may not run, or null. */
    private @Nullable String check(String image) {
        int slash = image.indexOf('/');
        if (slash < 0 || !hosts.contains(image.substring(0, slash))) {
            return "not from " + String.join(" or ", hosts.stream().sorted().toList());
        }
        String rest = image.substring(slash + 1);
        int at = rest.indexOf('@');
        if (at < 0) {
            return "not pinned by digest (<host>/<repository>@sha256:<64 hex>)";
        }
        String name = rest.substring(0, at);
        int colon = name.lastIndexOf(':');
        RepositoryName repository;
        Digest digest;
        try {
            if (colon >= 0) {
                io.berth.storage.Tag.of(name.substring(colon + 1)); // a tag before the digest: a label for humans, checked and ignored
                name = name.substring(0, colon);
            }
            repository = RepositoryName.of(name);
            digest = Digest.parse(rest.substring(at + 1));
        } catch (StorageException e) {
            return "not a valid reference: " + e.getMessage();
        }
        if (!digest.toString().startsWith("sha256:")) {
            return "pinned by a digest that is not sha256";
        }
        return verdicts.refusal(repository, digest);
    }
}
