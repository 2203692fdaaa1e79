package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import java.net.URI;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * Finds the configured service a load balancer's service id belongs to: the one whose {@code url} has
 * that id as its host ({@code tis.resilience.services.profile.url: http://profile}). The shortest path wins
 * when several do.
 */
final class ServiceIds {

	private final Map<String, URI> serviceUrls;

	ServiceIds(Map<String, URI> serviceUrls) {
		this.serviceUrls = serviceUrls;
	}

	@Nullable String serviceFor(String serviceId) {
		String host = serviceId.toLowerCase(Locale.ROOT);
		String found = null;
		int shortest = Integer.MAX_VALUE;
		for (Map.Entry<String, URI> entry : this.serviceUrls.entrySet()) {
			URI url = entry.getValue();
			String path = (url.getRawPath() != null) ? url.getRawPath() : "";
			if (url.getHost() != null && url.getHost().toLowerCase(Locale.ROOT).equals(host) && path.length() < shortest) {
				found = entry.getKey();
				shortest = path.length();
			}
		}
		return found;
	}

}
