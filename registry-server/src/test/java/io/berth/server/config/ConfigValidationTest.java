package io.berth.server.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Values Berth cannot honour stop it from starting, with a message that starts with the key. */
class ConfigValidationTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"forever", "10", "1d", "-", "1h 30m"})
    void badDurationNamesTheKey(String value) {
        assertRefused("storage:\n  maintenance:\n    uploadpurging:\n      age: \"" + value + "\"\n",
                "storage.maintenance.uploadpurging.age: ");
        assertRefused("health:\n  storagedriver:\n    interval: \"" + value + "\"\n", "health.storagedriver.interval: ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"maybe", "2", "enabled", "\"\""})
    void badBooleanNamesTheKey(String value) {
        assertRefused("storage:\n  delete:\n    enabled: " + value + "\n", "storage.delete.enabled: ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\":99999\"", "\":-1\"", "\":abc\"", "localhost", "\":\""})
    void badAddressNamesTheKey(String value) {
        assertRefused("http:\n  addr: " + value + "\n", "http.addr: ");
    }

    @Test
    void badDebugAddressNamesItsKey() {
        assertRefused("http:\n  debug:\n    addr: \":70000\"\n", "http.debug.addr: ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"s3", "inmemory", "azure", "gcs", "swift", "oss"})
    void otherStorageDriversAreRefused(String driver) {
        assertRefused("storage:\n  " + driver + ":\n    region: x\n", "storage." + driver + ": ");
    }

    @Test
    void unknownStorageSectionIsRefused() {
        assertRefused("storage:\n  ceph:\n    pool: x\n", "storage.ceph: ");
    }

    @Test
    void unsupportedOrIncompleteAuthIsRefused() {
        assertRefused("auth:\n  silly:\n    realm: r\n", "auth.silly: ");
        assertRefused("auth:\n  htpasswd:\n    realm: r\n", "auth.htpasswd.path: ");
        assertRefused("auth:\n  token:\n    realm: https://auth\n", "auth.token.service: ");
        assertRefused("auth:\n  htpasswd:\n    path: /p\n  token:\n    realm: https://a\n    service: s\n    issuer: i\n    rootcertbundle: /c\n", "auth: ");
        assertRefused("berth:\n  tokenIssuer:\n    key: /k\n", "berth.tokenIssuer: ");
        assertRefused("berth:\n  access:\n    - account: ci\n      repositories: [\"**\"]\n      actions: [fly]\n", "berth.access[0].actions: ");
        assertRefused("berth:\n  access:\n    - account: ci\n      actions: [pull]\n", "berth.access[0].repositories: ");
    }

    @Test
    void incompleteOrUnsupportedTlsIsRefused() {
        assertRefused("http:\n  tls:\n    certificate: /c.pem\n", "http.tls: ");
        assertRefused("http:\n  tls:\n    key: /k.pem\n", "http.tls: ");
        assertRefused("http:\n  tls:\n    letsencrypt:\n      cachefile: /x\n", "http.tls.letsencrypt: ");
        assertRefused("http:\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n    minimumtls: tls1.0\n", "http.tls.minimumtls: ");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "log:\\n  level: trace|log.level: ",
            "catalog:\\n  maxentries: 0|catalog.maxentries: ",
            "catalog:\\n  maxentries: many|catalog.maxentries: ",
            "catalog:\\n  maxentries: 2.5|catalog.maxentries: ",
            "berth:\\n  manifestmaxbytes: 1024|berth.manifestmaxbytes: ",
            "http:\\n  net: unix|http.net: ",
            "http:\\n  headers: [a, b]|http.headers: ",
            "http:\\n  host: {a: b}|http.host: ",
            "health:\\n  storagedriver:\\n    threshold: x|health.storagedriver.threshold: "})
    void otherInvalidValuesNameTheirKey(String yaml, String prefix) {
        assertRefused(yaml.replace("\\n", "\n"), prefix);
    }

    private void assertRefused(String yaml, String messagePrefix) {
        Path file = ConfigFiles.write(dir, yaml);
        assertThatThrownBy(() -> ConfigLoader.load(file, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(messagePrefix);
    }
}
