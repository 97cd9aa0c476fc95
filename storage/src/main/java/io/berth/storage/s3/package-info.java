/**
 * Registry storage on an S3-compatible object store, with registry:2's {@code s3} driver's object keys, so a bucket
 * moves between registry:2 and Berth in both directions. Several Berth replicas may share one bucket: everything a
 * replica must agree on lives in the bucket and is written with conditional writes. It knows nothing of HTTP APIs of
 * the registry; the object store is reached through the AWS SDK for Java v2.
 */
@NullMarked
package io.berth.storage.s3;

import org.jspecify.annotations.NullMarked;
