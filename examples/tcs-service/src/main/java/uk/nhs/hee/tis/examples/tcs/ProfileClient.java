package uk.nhs.hee.tis.examples.tcs;

import java.util.List;

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
	ResponseEntity<UserProfile> userinfo(@RequestHeader(HttpHeaders.AUTHORIZATION) String authorization);

	/**
	 * What Profile says of a user.
	 * @param userName the user's name
	 * @param fullName the user's full name
	 * @param roles TIS roles
	 * @param permissions what the user may do
	 * @param designatedBodyCodes the designated bodies the user works for
	 */
	record UserProfile(String userName, String fullName, List<String> roles, List<String> permissions,
			List<String> designatedBodyCodes) {
	}

}
