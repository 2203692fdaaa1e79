package uk.nhs.hee.tis.examples.tcs;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.servlet.HandlerInterceptor;

/**
 * What tcs does on every {@code /api/**} request but {@code /api/status}: load the caller's
 * permissions from Profile's userinfo, and refuse the request without {@code tcs:view:entities}.
 * When the permissions come from a kept copy (Profile failing), the answer says so in
 * {@value #STALE_HEADER}.
 */
@Component
class CallerPermissions implements HandlerInterceptor {

	static final String STALE_HEADER = "X-Profile-Stale";

	private final UserInfoService userInfo;

	CallerPermissions(UserInfoService userInfo) {
		this.userInfo = userInfo;
	}

	@Override
	public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) {
		UserInfoService.UserInfo caller = this.userInfo.load(request.getHeader(HttpHeaders.AUTHORIZATION));
		if (!caller.permissions().contains("tcs:view:entities")) {
			throw new ResponseStatusException(HttpStatus.FORBIDDEN, "tcs:view:entities is needed");
		}
		response.setHeader(STALE_HEADER, Boolean.toString(caller.stale()));
		return true;
	}

}
