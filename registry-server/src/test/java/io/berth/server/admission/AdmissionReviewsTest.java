package io.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.storage.Digest;
import io.berth.storage.RepositoryName;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdmissionReviewsTest {
    private static final String HOST = "registry.mycorp.local";
    private static final String GOOD = "sha256:" + "a".repeat(64);
    private static final String BAD = "sha256:" + "b".repeat(64);

    private final List<String> asked = new ArrayList<>();
    /** Accepts only GOOD, in any repository; remembers what it was asked. */
    private final ImageVerdicts verdicts = (RepositoryName repository, Digest digest) -> {
        asked.add(repository + "@" + digest);
        return digest.toString().equals(GOOD) ? null : "no valid signature by the keys of berth.trust[0]";
    };
    private final AdmissionReviews reviews = new AdmissionReviews(List.of(HOST), verdicts);

    private static ObjectNode review(String operation, String kind, JsonNode object, JsonNode oldObject) {
        ObjectNode r = AdmissionReviews.JSON.createObjectNode();
        r.put("apiVersion", "admission.k8s.io/v1");
        r.put("kind", "AdmissionReview");
        ObjectNode request = r.putObject("request");
        request.put("uid", "705ab4f5-6393-11e8-b7cc-42010a800002");
        request.putObject("kind").put("group", "").put("version", "v1").put("kind", kind);
        request.put("operation", operation);
        request.set("object", object);
        request.set("oldObject", oldObject);
        return r;
    }

    private static ObjectNode pod(String... images) {
        ObjectNode pod = AdmissionReviews.JSON.createObjectNode();
        pod.put("kind", "Pod");
        var containers = pod.putObject("spec").putArray("containers");
        for (int i = 0; i < images.length; i++) {
            containers.addObject().put("name", "c" + i).put("image", images[i]);
        }
        return pod;
    }

    private JsonNode answer(String operation, String kind, JsonNode object, JsonNode oldObject) {
        JsonNode out = reviews.answer(review(operation, kind, object, oldObject));
        assertThat(out.path("kind").asText()).isEqualTo("AdmissionReview");
        assertThat(out.path("response").path("uid").asText()).isEqualTo("705ab4f5-6393-11e8-b7cc-42010a800002");
        return out.path("response");
    }

    @Test
    void aPinnedTrustedImageIsAdmitted() {
        JsonNode r = answer("CREATE", "Pod", pod(HOST + "/team/app@" + GOOD, HOST + "/team/app:v1@" + GOOD), AdmissionReviews.JSON.nullNode());
        assertThat(r.path("allowed").asBoolean()).isTrue();
        assertThat(r.has("status")).isFalse();
        assertThat(asked).containsExactly("team/app@" + GOOD, "team/app@" + GOOD);
    }

    @Test
    void everyRefusalNamesTheContainerTheImageAndTheReason() {
        JsonNode r = answer("CREATE", "Pod", pod(HOST + "/team/app@" + BAD, "docker.io/library/nginx@" + GOOD, HOST + "/team/app:v1",
                HOST + ".evil.io/team/app@" + GOOD, HOST + "/Team/App@" + GOOD), AdmissionReviews.JSON.nullNode());
        assertThat(r.path("allowed").asBoolean()).isFalse();
        assertThat(r.path("status").path("code").asInt()).isEqualTo(403);
        String message = r.path("status").path("message").asText();
        assertThat(message)
                .contains("container \"c0\" image \"" + HOST + "/team/app@" + BAD + "\": no valid signature")
                .contains("container \"c1\" image \"docker.io/library/nginx@" + GOOD + "\": not from " + HOST)
                .contains("container \"c2\" image \"" + HOST + "/team/app:v1\": not pinned by digest")
                .contains("container \"c3\"")
                .contains("container \"c4\" image \"" + HOST + "/Team/App@" + GOOD + "\": not a valid reference");
        assertThat(asked).as("only well-formed references reach the verdicts").containsExactly("team/app@" + BAD);
    }

    @Test
    void workloadTemplatesInitAndEphemeralContainersAreChecked() {
        ObjectNode deployment = AdmissionReviews.JSON.createObjectNode();
        var spec = deployment.putObject("spec").putObject("template").putObject("spec");
        spec.putArray("containers").addObject().put("name", "app").put("image", HOST + "/team/app@" + GOOD);
        spec.putArray("initContainers").addObject().put("name", "init").put("image", HOST + "/team/init@" + BAD);
        assertThat(answer("CREATE", "Deployment", deployment, AdmissionReviews.JSON.nullNode()).path("status").path("message").asText())
                .contains("initContainer \"init\"");

        ObjectNode cronJob = AdmissionReviews.JSON.createObjectNode();
        cronJob.putObject("spec").putObject("jobTemplate").putObject("spec").putObject("template").putObject("spec")
                .putArray("containers").addObject().put("name", "job").put("image", HOST + "/team/job@" + BAD);
        assertThat(answer("CREATE", "CronJob", cronJob, AdmissionReviews.JSON.nullNode()).path("allowed").asBoolean()).isFalse();

        ObjectNode withDebug = pod(HOST + "/team/app@" + GOOD);
        ((ObjectNode) withDebug.path("spec")).putArray("ephemeralContainers").addObject().put("name", "debug").put("image", "busybox");
        assertThat(answer("UPDATE", "Pod", withDebug, pod(HOST + "/team/app@" + GOOD)).path("status").path("message").asText())
                .contains("ephemeralContainer \"debug\" image \"busybox\"");
    }

    @Test
    void anUpdateThatLeavesEveryImageAsItWasIsAdmitted() {
        ObjectNode old = pod("docker.io/library/nginx:1.27");
        ObjectNode relabelled = pod("docker.io/library/nginx:1.27");
        relabelled.putObject("metadata").putObject("labels").put("tier", "web");
        assertThat(answer("UPDATE", "Pod", relabelled, old).path("allowed").asBoolean()).isTrue();
        assertThat(answer("UPDATE", "Pod", pod("docker.io/library/nginx:1.28"), old).path("allowed").asBoolean()).isFalse();
    }

    @Test
    void aMalformedReviewIsRefused() {
        JsonNode out = reviews.answer(AdmissionReviews.JSON.createObjectNode().put("kind", "AdmissionReview"));
        assertThat(out.path("response").path("allowed").asBoolean()).isFalse();
    }

    @Test
    void hostileTextInTheObjectIsClippedInTheMessage() {
        String longName = "x".repeat(100_000);
        JsonNode r = answer("CREATE", "Pod", pod(longName), AdmissionReviews.JSON.nullNode());
        assertThat(r.path("status").path("message").asText().length()).isLessThan(2_000);
    }
}
