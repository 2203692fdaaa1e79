package uk.nhs.hee.tis.examples.tcs;

import java.util.Collection;
import java.util.List;

import org.springframework.http.HttpHeaders;
import org.springframework.security.oauth2.client.annotation.ClientRegistrationId;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.service.annotation.GetExchange;

/** Reference's API as tcs uses it: an HTTP interface in Boot's "reference" HTTP service group. */
public interface ReferenceClient {

	/**
	 * Sites by id, read with the caller's own token.
	 * @param authorization the caller's {@code Authorization} header
	 * @param ids the site ids
	 * @return the sites that exist
	 */
	@GetExchange("/api/sites/ids/in")
	List<Site> sites(@RequestHeader(HttpHeaders.AUTHORIZATION) String authorization, @RequestParam Collection<Long> ids);

	/**
	 * Every grade, read with tcs's service-account token. With the starter, the token comes from
	 * {@code tis.resilience.services.reference.client-registration}; without it, Spring Security's
	 * {@code @ClientRegistrationId} does the same job (see {@code WithoutStarterConfiguration}).
	 * @return all grades
	 */
	@GetExchange("/api/grades")
	@ClientRegistrationId("tcs")
	List<Grade> allGrades();

	/**
	 * A site as Reference describes it.
	 * @param id the site id
	 * @param siteCode the site's code
	 * @param siteName the site's name
	 */
	record Site(long id, String siteCode, String siteName) {
	}

	/**
	 * A grade as Reference describes it.
	 * @param id the grade id
	 * @param name the grade's name
	 */
	record Grade(long id, String name) {
	}

}
