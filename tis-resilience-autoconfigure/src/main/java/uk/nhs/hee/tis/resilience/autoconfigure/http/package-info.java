/**
 * Protection of Spring's HTTP clients: RestClient, RestTemplate and HTTP interface clients.
 *
 * @since 0.1.0
 */
@NullMarked
package uk.nhs.hee.tis.resilience.autoconfigure.http;

import org.jspecify.annotations.NullMarked;
