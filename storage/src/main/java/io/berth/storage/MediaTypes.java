package io.berth.storage;

import java.util.Set;

/** The manifest media types Berth stores. */
public final class MediaTypes {
    public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    public static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    public static final String DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

    static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_MANIFEST_LIST);
    static final Set<String> IMAGES = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);

    private MediaTypes() {}

    public static boolean isManifest(String mediaType) {
        return INDEXES.contains(mediaType) || IMAGES.contains(mediaType);
    }
}
