package uk.nhs.hee.tis.examples.tcs;

import java.util.Collection;
import java.util.Map;
import java.util.stream.Collectors;

import org.springframework.stereotype.Service;

import uk.nhs.hee.tis.examples.tcs.ReferenceClient.Site;
import uk.nhs.hee.tis.resilience.annotation.Fallback;

/**
 * Puts names on site ids, from Reference. Names are an enrichment: when Reference fails, results
 * are served without them rather than not at all.
 */
@Service
public class SiteNames {

	private final ReferenceClient reference;

	public SiteNames(ReferenceClient reference) {
		this.reference = reference;
	}

	/**
	 * The names of the given sites.
	 * @param authorization the caller's {@code Authorization} header
	 * @param ids the site ids
	 * @return the name of each site Reference knows; empty when Reference is unavailable
	 */
	@Fallback(method = "withoutNames")
	public Names of(String authorization, Collection<Long> ids) {
		Map<Long, String> names = this.reference.sites(authorization, ids)
			.stream()
			.collect(Collectors.toMap(Site::id, Site::siteName));
		return new Names(names, false);
	}

	Names withoutNames(String authorization, Collection<Long> ids) {
		return new Names(Map.of(), true);
	}

	/**
	 * Site names by id.
	 * @param byId the names
	 * @param degraded whether Reference was unavailable, so that no name is known
	 */
	public record Names(Map<Long, String> byId, boolean degraded) {
	}

}
