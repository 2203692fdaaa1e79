/**
 * HTTP-aware failure classification: which statuses and I/O errors count against a service, which
 * requests are safe to send again, and how {@code Retry-After} is read.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.http;

import org.jspecify.annotations.NullMarked;
