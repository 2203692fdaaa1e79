package uk.nhs.hee.tis.examples.tcs;

import org.springframework.http.HttpHeaders;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.service.annotation.GetExchange;

/** Profile's API as tcs uses it: an HTTP interface in Boot's "profile" HTTP service group. */
public interface ProfileClient {

	/**
	 * The caller's roles and permissions, fetched with the caller's own token.
	 * @param authorization the caller's {@code Authorization} header
	 * @return the userinfo; a stale copy carries a {@code Warning} header
	 */
	@GetExchange("/api/userinfo")
	ResponseEntity<String> userinfo(@RequestHeader(HttpHeaders.AUTHORIZATION) String authorization);

}
