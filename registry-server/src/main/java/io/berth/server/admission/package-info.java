/** Kubernetes admission: the AdmissionReview webhook that admits only images from Berth, pinned by digest, and trusted. */
@NullMarked
package io.berth.server.admission;

import org.jspecify.annotations.NullMarked;
