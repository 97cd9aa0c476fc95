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
    @ValueSource(strings = {"inmemory", "azure", "gcs", "swift", "oss"})
    void otherStorageDriversAreRefused(String driver) {
        assertRefused("storage:\n  " + driver + ":\n    region: x\n", "storage." + driver + ": ");
    }

    @Test
    void filesystemAndS3TogetherAreRefused() {
        assertRefused("storage:\n  filesystem:\n    rootdirectory: /d\n  s3:\n    region: r\n    bucket: b\n", "storage: ");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "bucket: b|storage.s3.region: ",
            "region: r|storage.s3.bucket: ",
            "region: r\\n    bucket: \"\"|storage.s3.bucket: ",
            "region: r\\n    bucket: b\\n    v4auth: false|storage.s3.v4auth: ",
            "region: r\\n    bucket: b\\n    v4auth: \"false\"|storage.s3.v4auth: ",
            "region: r\\n    bucket: b\\n    chunksize: 5242879|storage.s3.chunksize ",
            "region: r\\n    bucket: b\\n    chunksize: ten|storage.s3.chunksize: ",
            "region: r\\n    bucket: b\\n    multipartcopychunksize: 1024|storage.s3.multipartcopy",
            "region: r\\n    bucket: b\\n    multipartcopymaxconcurrency: 0|storage.s3.multipartcopy",
            "region: r\\n    bucket: b\\n    accesskey: AK|storage.s3.accesskey ",
            "region: r\\n    bucket: b\\n    secure: sometimes|storage.s3.secure: ",
            "region: r\\n    bucket: b\\n    storageclass: COLD|storage.s3.storageclass: ",
            "region: r\\n    bucket: b\\n    regionendpoint: ftp://host|storage.s3.regionendpoint: ",
            "region: r\\n    bucket: b\\n    regionendpoint: \"http://\"|storage.s3.regionendpoint: "})
    void invalidS3SettingsNameTheirKey(String s3, String prefix) {
        assertRefused("storage:\n  s3:\n    " + s3.replace("\\n", "\n") + "\n", prefix);
    }

    @Test
    void invalidBerthS3SettingsNameTheirKey() {
        String s3 = "storage:\n  s3:\n    region: r\n    bucket: b\n";
        assertRefused(s3 + "berth:\n  s3:\n    client: okhttp\n", "berth.s3.client: ");
        assertRefused(s3 + "berth:\n  s3:\n    partConcurrency: 0\n", "berth.s3.partConcurrency ");
        assertRefused("storage:\n  s3: []\n", "storage.s3: ");
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
