/**
 * Per-instance outlier ejection and failover for services load-balanced with Spring Cloud LoadBalancer.
 *
 * @since 0.3.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import org.jspecify.annotations.NullMarked;
