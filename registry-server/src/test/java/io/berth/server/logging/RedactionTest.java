package io.berth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RedactionTest {
    @Test
    void credentialsInTheQueryAreRedacted() {
        assertThat(Redaction.uri("/auth/token?service=berth&scope=repository:a:pull&access_token=s3cr3t&password=hunter2"))
                .isEqualTo("/auth/token?service=berth&scope=repository:a:pull&access_token=REDACTED&password=REDACTED");
        assertThat(Redaction.uri("/x?refresh_token=a&client_secret=b&X-Amz-Signature=c&sig=d&Token=e"))
                .isEqualTo("/x?refresh_token=REDACTED&client_secret=REDACTED&X-Amz-Signature=REDACTED&sig=REDACTED&Token=REDACTED");
    }

    @Test
    void otherTargetsAreKept() {
        assertThat(Redaction.uri("/v2/a/blobs/uploads/u?_state=abc&digest=sha256%3A00")).isEqualTo("/v2/a/blobs/uploads/u?_state=abc&digest=sha256%3A00");
        assertThat(Redaction.uri("/v2/")).isEqualTo("/v2/");
        assertThat(Redaction.uri("/v2/_catalog?n=10&last=a&")).isEqualTo("/v2/_catalog?n=10&last=a&");
    }

    @Test
    void userInformationOfAnAbsoluteTargetIsRedacted() {
        assertThat(Redaction.uri("http://admin:hunter2@host:5000/v2/?token=x")).isEqualTo("http://REDACTED@host:5000/v2/?token=REDACTED");
        assertThat(Redaction.uri("http://host:5000/v2/")).isEqualTo("http://host:5000/v2/");
    }
}
